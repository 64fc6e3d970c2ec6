// eslint-plugin-security ships no types; this is the part of its export that the scanner uses.
declare module 'eslint-plugin-security' {
  import type { ESLint, Linter } from 'eslint';

  const plugin: ESLint.Plugin & { configs: { recommended: Linter.Config } };
  export = plugin;
}

'use strict';
// Lvl_UP example target (with dependencies): INTENTIONALLY FLAWED demo code (see README.md). Never deploy or copy it.

const DEFAULTS = {
  pageSize: 20,
  currency: 'EUR',
  githubToken: 'ghp_Lv1UpDem0T0kenN0tRealAbCdEfGhIjKlMnO',
};

/**
 * Settings from the environment over the defaults.
 * @param {Record<string, string | undefined>} [env=process.env]
 */
function loadSettings(env = process.env) {
  const pageSize = Number.parseInt(env.PAGE_SIZE ?? '', 10);
  return {
    pageSize: Number.isInteger(pageSize) && pageSize > 0 ? pageSize : DEFAULTS.pageSize,
    currency: env.CURRENCY ?? DEFAULTS.currency,
    githubToken: env.GITHUB_TOKEN ?? DEFAULTS.githubToken,
  };
}

module.exports = { loadSettings, DEFAULTS };

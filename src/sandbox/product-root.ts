import path from 'node:path';

/**
 * The product's own directory (source checkout or installed image: its .env, node_modules, .data by default), which
 * the worker passes to the sandbox as a path runs must never see. src/sandbox under ts-node and jest, dist/src/sandbox
 * once built.
 */
export const PRODUCT_ROOT =
  path.basename(path.resolve(__dirname, '../..')) === 'dist'
    ? path.resolve(__dirname, '../../..')
    : path.resolve(__dirname, '../..');

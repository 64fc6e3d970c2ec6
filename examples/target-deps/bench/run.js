'use strict';
// Benchmarks for the example target with dependencies. Prints one JSON line per benchmark: {"name": string, "ms": number}
// (the TARGET_BENCH_CMD contract), where ms is the median of RUNS timed runs after one warm-up run.

const { performance } = require('node:perf_hooks');
const { distinct } = require('../src/report');
const { slugify } = require('../src/slug');

const RUNS = 5;

/** Deterministic pseudo-random integers in [0, range): the same input on every run. */
function fixedInput(length, range, seed = 4242) {
  const values = new Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    values[i] = x % range;
  }
  return values;
}

function bench(name, fn) {
  fn(); // warm-up
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const ms = Math.round(samples[Math.floor(RUNS / 2)] * 10) / 10;
  process.stdout.write(`${JSON.stringify({ name, ms })}\n`);
}

const distinctInput = fixedInput(20_000, 30_000);
const titles = fixedInput(20_000, 1_000_000).map((n) => `Product Nº ${n} — Édition spéciale`);

bench('distinct', () => distinct(distinctInput));
bench('slugify', () => titles.forEach(slugify));

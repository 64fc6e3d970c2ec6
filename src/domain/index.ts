export * from './agents';
export * from './levels';

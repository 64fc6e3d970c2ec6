export * from './agents';
export * from './levels';
export * from './llm';

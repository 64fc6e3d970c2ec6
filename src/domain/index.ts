export * from './agents';
export * from './levels';
export * from './llm';
export * from './custody';
export * from './ratings';
export * from './eligibility';
export * from './performance';
export * from './learning';

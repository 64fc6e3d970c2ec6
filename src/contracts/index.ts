/**
 * Contracts shared by the API, the worker and the workflows: task queues, workflow ids, inputs and outputs, and
 * every signal, query and update definition. Safe to import from workflow code (no I/O).
 */
export * from './agents';
export * from './progress';
export * from './llm';
export * from './custody';
export * from './agent-runs';
export * from './learning-cycle';
export * from './proposals';
export * from './reports';
export * from './reconcile';
export * from './task-queues';

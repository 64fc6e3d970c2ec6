import { defineQuery } from '@temporalio/workflow';

/** The progress every workflow reports through its `progress` query and records in the database at each step. */
export interface WorkflowProgress {
  step: string;
  state: 'running' | 'completed' | 'failed';
  completedSteps: string[];
  detail?: Record<string, unknown>;
}

export const progressQuery = defineQuery<WorkflowProgress>('progress');

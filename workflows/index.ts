/**
 * The workflow bundle entry: re-exports every production workflow. Workflows orchestrate only; all I/O is in
 * activities.
 */
export { custodyExamWorkflow } from './custody-exam.workflow';
export { guardianScanWorkflow } from './guardian-scan.workflow';
export { conquestAnalysisWorkflow } from './conquest-analysis.workflow';
export { sandboxExperimentWorkflow } from './sandbox-experiment.workflow';
export { learningCycleWorkflow } from './learning-cycle.workflow';
export { proposalWorkflow } from './proposal.workflow';
export { webhookDeliveryWorkflow } from './webhook-delivery.workflow';
export { weeklyReportWorkflow } from './weekly-report.workflow';
export { reconcileWorkflow } from './reconcile.workflow';

import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123094011_Initial } from './Migration20261123094011_Initial';
import { Migration20261123094500_SeedAgents } from './Migration20261123094500_SeedAgents';
import { Migration20261123121918_LlmGateway } from './Migration20261123121918_LlmGateway';
import { Migration20261123124500_LlmBudgetReserve } from './Migration20261123124500_LlmBudgetReserve';
import { Migration20261123124833_LlmBudgetCounters } from './Migration20261123124833_LlmBudgetCounters';
import { Migration20261123125644_Custody } from './Migration20261123125644_Custody';
import { Migration20261123135032_AgentRunsFindings } from './Migration20261123135032_AgentRunsFindings';
import { Migration20261123140835_PerformanceSamples } from './Migration20261123140835_PerformanceSamples';
import { Migration20261123152848_Proposals } from './Migration20261123152848_Proposals';
import { Migration20261123154532_OperatorSurface } from './Migration20261123154532_OperatorSurface';
import { Migration20261202050606_WorkersIsolation } from './Migration20261202050606_WorkersIsolation';
import { Migration20261202060500_EndingsCancelled } from './Migration20261202060500_EndingsCancelled';
import { Migration20261202061238_LedgerCallKeys } from './Migration20261202061238_LedgerCallKeys';
import { Migration20261202062700_OneLiveProposalPerFinding } from './Migration20261202062700_OneLiveProposalPerFinding';
import { Migration20261202082416_ExamAnswerClock } from './Migration20261202082416_ExamAnswerClock';
import { Migration20261202083000_FindingsOpenedRun } from './Migration20261202083000_FindingsOpenedRun';
import { Migration20261202092000_LedgerReusableAnswers } from './Migration20261202092000_LedgerReusableAnswers';
import { Migration20261202093000_ExamRules } from './Migration20261202093000_ExamRules';
import { Migration20261202093817_WorkerQueuesText } from './Migration20261202093817_WorkerQueuesText';
import { Migration20261202094447_JudgeIndependence } from './Migration20261202094447_JudgeIndependence';
import { Migration20261202100500_LedgerCostUnknown } from './Migration20261202100500_LedgerCostUnknown';
import { Migration20261202141500_LedgerInFlight } from './Migration20261202141500_LedgerInFlight';
import { Migration20261202142246_AuditKeyPrefix } from './Migration20261202142246_AuditKeyPrefix';
import { Migration20261202193000_ReadCountsRollups } from './Migration20261202193000_ReadCountsRollups';
import { Migration20261203080000_AgentsChangeFeed } from './Migration20261203080000_AgentsChangeFeed';

/**
 * Every committed migration, in order. Listed explicitly so compiled builds, ts-node and jest all run the same set
 * without scanning folders. An applied migration is never edited: add a new one.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261123094011_Initial', class: Migration20261123094011_Initial },
  { name: 'Migration20261123094500_SeedAgents', class: Migration20261123094500_SeedAgents },
  { name: 'Migration20261123121918_LlmGateway', class: Migration20261123121918_LlmGateway },
  { name: 'Migration20261123124500_LlmBudgetReserve', class: Migration20261123124500_LlmBudgetReserve },
  { name: 'Migration20261123124833_LlmBudgetCounters', class: Migration20261123124833_LlmBudgetCounters },
  { name: 'Migration20261123125644_Custody', class: Migration20261123125644_Custody },
  { name: 'Migration20261123135032_AgentRunsFindings', class: Migration20261123135032_AgentRunsFindings },
  { name: 'Migration20261123140835_PerformanceSamples', class: Migration20261123140835_PerformanceSamples },
  { name: 'Migration20261123152848_Proposals', class: Migration20261123152848_Proposals },
  { name: 'Migration20261123154532_OperatorSurface', class: Migration20261123154532_OperatorSurface },
  { name: 'Migration20261202050606_WorkersIsolation', class: Migration20261202050606_WorkersIsolation },
  { name: 'Migration20261202060500_EndingsCancelled', class: Migration20261202060500_EndingsCancelled },
  { name: 'Migration20261202061238_LedgerCallKeys', class: Migration20261202061238_LedgerCallKeys },
  {
    name: 'Migration20261202062700_OneLiveProposalPerFinding',
    class: Migration20261202062700_OneLiveProposalPerFinding,
  },
  { name: 'Migration20261202082416_ExamAnswerClock', class: Migration20261202082416_ExamAnswerClock },
  { name: 'Migration20261202083000_FindingsOpenedRun', class: Migration20261202083000_FindingsOpenedRun },
  { name: 'Migration20261202092000_LedgerReusableAnswers', class: Migration20261202092000_LedgerReusableAnswers },
  { name: 'Migration20261202093000_ExamRules', class: Migration20261202093000_ExamRules },
  { name: 'Migration20261202093817_WorkerQueuesText', class: Migration20261202093817_WorkerQueuesText },
  { name: 'Migration20261202094447_JudgeIndependence', class: Migration20261202094447_JudgeIndependence },
  { name: 'Migration20261202100500_LedgerCostUnknown', class: Migration20261202100500_LedgerCostUnknown },
  { name: 'Migration20261202141500_LedgerInFlight', class: Migration20261202141500_LedgerInFlight },
  { name: 'Migration20261202142246_AuditKeyPrefix', class: Migration20261202142246_AuditKeyPrefix },
  { name: 'Migration20261202193000_ReadCountsRollups', class: Migration20261202193000_ReadCountsRollups },
  { name: 'Migration20261203080000_AgentsChangeFeed', class: Migration20261203080000_AgentsChangeFeed },
];

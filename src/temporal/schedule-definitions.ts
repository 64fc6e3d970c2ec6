import type { Config } from '../config';
import type { ScheduleDefinition } from './schedules';

/**
 * Every recurring workflow (ARCHITECTURE §3.8), with its interval from config. Each workflow's issue adds its entry
 * here when the workflow exists: custody exams, the learning cycle, scans, experiments, analyses, the weekly report.
 */
export function scheduleDefinitions(_config: Config): ScheduleDefinition[] {
  return [];
}

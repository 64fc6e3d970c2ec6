/**
 * Finding severities and how Guardian's triage bears on them (ARCHITECTURE §3.3), pure. The scanner's severity is
 * the finding's severity and stays so: the model's assessment is recorded beside it on the triage. For notifying,
 * the higher of the two counts — the model may raise a finding to high/critical, never quiet one the scanner rated
 * high; not even a false-positive verdict does (the notification then says what the model thinks, for a human).
 */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The severity a finding notifies at: the higher of the scanner's and the triage's (null: no triage severity). */
export function notifySeverity(scanner: Severity, triaged: Severity | null | undefined): Severity {
  if (triaged === null || triaged === undefined) return scanner;
  return SEVERITIES.indexOf(triaged) > SEVERITIES.indexOf(scanner) ? triaged : scanner;
}

/** Whether a finding of this (notify) severity raises a `security_finding` notification: high and critical do. */
export function isSerious(severity: Severity): boolean {
  return severity === 'high' || severity === 'critical';
}

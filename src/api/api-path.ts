/**
 * Whether a path is under `/api`, matched as the router matches it: case-insensitively (`/API/agents` reaches the
 * agents router, so it must pass the guard too).
 */
export function isApiPath(path: string): boolean {
  return /^\/api(\/|$)/i.test(path);
}

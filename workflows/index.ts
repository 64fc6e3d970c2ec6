/**
 * The workflow bundle entry: re-exports every production workflow. Workflows orchestrate only; all I/O is in
 * activities. (The custody, agent-cycle and proposal workflows land here as their issues are built.)
 */
export {};

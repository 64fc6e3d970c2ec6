export { createSandbox, DEFAULT_SANDBOX_LIMITS, type CreateSandboxOptions } from './runner';
export {
  SANDBOX_ERROR_TYPES,
  SandboxError,
  type Sandbox,
  type SandboxErrorType,
  type SandboxIsolation,
  type SandboxLimits,
  type SandboxRunRequest,
  type SandboxRunResult,
} from './types';

export { PRODUCT_ROOT } from './product-root';
export { createSandbox, DEFAULT_SANDBOX_LIMITS, type CreateSandboxOptions } from './runner';
export { sandboxFromConfig } from './from-config';
export {
  SANDBOX_ERROR_TYPES,
  SandboxError,
  type Sandbox,
  type SandboxCgroupMode,
  type SandboxErrorType,
  type SandboxInfo,
  type SandboxIsolation,
  type SandboxLimits,
  type SandboxRunRequest,
  type SandboxRunResult,
} from './types';

export { createLlmGateway, type LlmGateway, type LlmGatewayDeps } from './gateway';
export { LlmError, LLM_ERROR_TYPES, isLlmError, type LlmErrorType } from './errors';
export { costOf, priceOf, PRICES_PER_MILLION } from './prices';
export type { CallContext, ChatMessage, LlmRequest, LlmResult, LlmUsage } from './types';

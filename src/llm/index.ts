export { createLlmGateway, type LlmGateway, type LlmGatewayDeps } from './gateway';
export { LlmError, LLM_ERROR_TYPES, isLlmError, type LlmErrorType } from './errors';
export { costOf, createPricing, priceOf, PRICES_PER_MILLION, type Pricing } from './prices';
export type { CallContext, ChatMessage, LlmRequest, LlmResult, LlmUsage } from './types';
export { UNTRUSTED_DATA_RULE, untrusted, withUntrustedRule } from './untrusted';

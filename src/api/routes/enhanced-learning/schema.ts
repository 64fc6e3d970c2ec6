import { z } from 'zod';
import { AGENT_IDS } from '../../../domain/agents';

export const agentParams = z.object({ agentId: z.enum(AGENT_IDS) });

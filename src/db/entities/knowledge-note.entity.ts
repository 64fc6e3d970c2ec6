import { randomUUID } from 'node:crypto';
import { EntitySchema } from '@mikro-orm/core';

/** What an agent has learned, searchable by PostgreSQL full-text search (exams put the best matches in context). */
export class KnowledgeNote {
  id: string = randomUUID();
  agentId: string;
  category: string | null;
  title: string;
  body: string;
  sources: Array<{ kind: string; ref: string }>;
  createdAt: Date = new Date();

  constructor(init: Pick<KnowledgeNote, 'agentId' | 'category' | 'title' | 'body' | 'sources'>) {
    this.agentId = init.agentId;
    this.category = init.category;
    this.title = init.title;
    this.body = init.body;
    this.sources = init.sources;
  }
}

export const KnowledgeNoteSchema = new EntitySchema<KnowledgeNote>({
  class: KnowledgeNote,
  tableName: 'knowledge_notes',
  indexes: [
    { properties: ['agentId', 'createdAt'] },
    {
      name: 'knowledge_notes_search_index',
      expression: `create index "knowledge_notes_search_index" on "knowledge_notes" using gin (to_tsvector('english', "title" || ' ' || "body"))`,
    },
  ],
  properties: {
    id: { type: 'uuid', primary: true },
    agentId: { type: 'string', length: 32 },
    category: { type: 'string', length: 64, nullable: true },
    title: { type: 'string', length: 300 },
    body: { type: 'text' },
    sources: { type: 'json' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

import type { AsyncLocalStorage } from 'node:async_hooks';
import { RequestContext, type EntityManager } from '@mikro-orm/core';
import type { Middleware } from 'koa';
import type { AppState } from '../types';

/**
 * The request's entity manager fork, made on first use: a request whose handler goes through `orm.em` (the identity
 * map, a flush) gets its own fork as with `RequestContext.create`; one that never asks — the read routes of
 * src/db/read.ts, answered by one statement on a pooled connection — costs no fork (issue 17: no per-request work
 * that is not needed).
 */
class LazyForks extends Map<string, EntityManager> {
  /** While the fork is being built: the ORM resolves the context inside `fork`, and must find none (as when `RequestContext.create` forks, before its context exists). */
  private forking = false;

  constructor(private readonly root: EntityManager) {
    super();
  }

  override get(name: string): EntityManager | undefined {
    let em = super.get(name);
    if (em === undefined && name === this.root.name && !this.forking) {
      this.forking = true;
      try {
        em = this.root.fork({ useContext: true, disableContextResolution: true });
      } finally {
        this.forking = false;
      }
      this.set(name, em);
    }
    return em;
  }
}

// The store `RequestContext.create` runs in (private in the typings: `RequestContext.getEntityManager`, which
// `orm.em` consults, reads it).
const storage = (RequestContext as unknown as { storage: AsyncLocalStorage<RequestContext> }).storage;

/** `orm.em` is read per request, not when the app is built (the OpenAPI build mounts the app with no ORM behind it). */
export function lazyRequestContext(orm: { em: EntityManager }): Middleware<AppState> {
  return (_ctx, next) => storage.run(new RequestContext(new LazyForks(orm.em)), next);
}

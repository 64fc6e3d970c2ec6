import { api, stream, type Page } from './api';
import { h } from './dom';

const CHANGED = 'lvlup:notifications-changed';

/** Tells the nav badge that notifications were marked read here, so it counts again. */
export function notificationsChanged(): void {
  window.dispatchEvent(new Event(CHANGED));
}

/**
 * The nav's "Notifications (3)" count: the unread total (GET /api/notifications?unread=true, its page total), counted
 * again when the notification stream brings one, when this console marks some read, and every minute (a read marked
 * elsewhere). One element and one stream for the whole session, whatever page is shown; `stop` ends them at sign-out.
 */
export function unreadBadge(): { element: HTMLElement; stop(): void } {
  const element = h('span', { class: 'unread', 'aria-live': 'polite', hidden: true });
  const controller = new AbortController();
  let counting: Promise<void> = Promise.resolve();
  const count = (): void => {
    // One count at a time, in order: a late answer never overwrites a newer one.
    counting = counting.then(async () => {
      try {
        const { page } = await api<Page<unknown>>('/notifications?unread=true&limit=1', { signal: controller.signal });
        element.textContent = page.total > 0 ? ` (${page.total})` : '';
        element.hidden = page.total === 0;
        element.dataset.count = String(page.total);
        element.title = `${page.total} unread`;
      } catch {
        // signed out or the API is unreachable: keep the last count
      }
    });
  };
  const onChanged = (): void => count();
  window.addEventListener(CHANGED, onChanged);
  const timer = setInterval(count, 60_000);
  count();
  void stream(
    '/notifications/stream',
    (event) => {
      if (event === 'notification') count();
    },
    controller.signal,
  );
  return {
    element,
    stop: () => {
      controller.abort();
      clearInterval(timer);
      window.removeEventListener(CHANGED, onChanged);
    },
  };
}

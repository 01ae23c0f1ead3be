/**
 * A router on the History API: `/` (the runs list, its search in the query
 * string), `/runs/<id>`, `/workers` and `/schedules` (its page in the query
 * string). Small enough that a library would be more code to read than this.
 */
import { useEffect, useState } from "preact/hooks";
import { decodeRunId, encodeRunId } from "../shared/api.js";

/** Where the browser is. */
export type Route =
  | { readonly page: "runs"; readonly params: URLSearchParams }
  | { readonly page: "run"; readonly id: string }
  | { readonly page: "workers" }
  | { readonly page: "schedules"; readonly params: URLSearchParams };

function current(): Route {
  if (location.pathname === "/workers") return { page: "workers" };
  if (location.pathname === "/schedules") return { page: "schedules", params: new URLSearchParams(location.search) };
  const match = /^\/runs\/([^/]+)$/.exec(location.pathname);
  if (match?.[1]) {
    try {
      return { page: "run", id: decodeRunId(decodeURIComponent(match[1])) };
    } catch {
      // A hand-typed path that is not percent-encoded correctly: show the list rather than fail.
    }
  }
  return { page: "runs", params: new URLSearchParams(location.search) };
}

/** Goes to `href` without reloading the page. */
export function navigate(href: string): void {
  history.pushState(null, "", href);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The current route; re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    addEventListener("popstate", onChange);
    return () => removeEventListener("popstate", onChange);
  }, []);
  return route;
}

/** The page of run `id` (any id, `.`, `..` and `a/b?c#d` included: see `encodeRunId`). */
export function runHref(id: string): string {
  return `/runs/${encodeRunId(id)}`;
}

/** Follows a same-page link without a reload (a modified click still opens a new tab). */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = (e.currentTarget as HTMLAnchorElement).getAttribute("href");
  if (!href) return;
  e.preventDefault();
  navigate(href);
}

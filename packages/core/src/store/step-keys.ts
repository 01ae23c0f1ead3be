/**
 * Which commit keys belong to a set of steps, the one rule both stores apply
 * (the Redis scripts through `lua/includes/lifecycle.lua`).
 *
 * A set names steps by key templates: a step's ref made concrete as far as it
 * is known, each map element written `name[]` and each loop iteration `name#`
 * where any will do (`lines[]/charge`, `poll#/check`), or with its number
 * where only that one does (`lines[3]/charge`). A template matches a commit key
 * segment by segment (split at "/"). `loops` are templates of loops whose body
 * is a function: each call commits as `<template>#<n>`.
 */
import type { StepKeySet } from "./types.js";

/** A predicate: does commit key `key` belong to `set`? */
export function stepKeyMatcher(set: StepKeySet): (key: string) => boolean {
  const exact = new Set(set.refs);
  const refs = set.refs.map((t) => t.split("/"));
  const loops = set.loops.map((t) => t.split("/"));
  return (key) => {
    if (exact.has(key)) return true;
    const segments = key.split("/");
    if (refs.some((t) => templateMatches(t, segments))) return true;
    const call = /^(.+)#\d+$/.exec(segments[segments.length - 1]!);
    if (!call) return false;
    const loop = [...segments.slice(0, -1), call[1]!];
    return loops.some((t) => templateMatches(t, loop));
  };
}

function templateMatches(template: readonly string[], segments: readonly string[]): boolean {
  return template.length === segments.length && template.every((t, i) => segmentMatches(t, segments[i]!));
}

function segmentMatches(template: string, segment: string): boolean {
  if (template === segment) return true;
  if (template.endsWith("[]")) {
    const base = template.slice(0, -1);
    return segment.startsWith(base) && /^\d+\]$/.test(segment.slice(base.length));
  }
  if (template.endsWith("#")) return segment.startsWith(template) && /^\d+$/.test(segment.slice(template.length));
  return false;
}

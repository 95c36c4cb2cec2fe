import { isIP } from "node:net";
import { z } from "zod";
import { isCalendarDate } from "../common/validate.js";

/** The zod building blocks of the variables table: an empty value counts as unset everywhere. */

export const emptyToUndefined = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

const trimmedOrUnset = (v: unknown) => (typeof v === "string" ? emptyToUndefined(v.trim()) : v);

/** Whole numbers in decimal digits only: `0x4e20`, `1e3` or `8080.0` are mistakes, not numbers to guess at. */
const decimalInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: "must be a whole number written in decimal digits" })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const intRange = (min: number, max: number) =>
  max === Number.MAX_SAFE_INTEGER ? `an integer, at least ${min}` : `an integer from ${min} to ${max}`;

/** A whole number with a default. */
export const int = (min: number, max: number, def: number) =>
  z.preprocess(trimmedOrUnset, decimalInt(min, max).default(def)).meta({ accepts: intRange(min, max) });

export const bool = (def: boolean) =>
  z
    .preprocess(
      emptyToUndefined,
      z
        .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
        .default(def ? "true" : "false")
        .transform((v) => v === "true" || v === "1" || v === "yes"),
    )
    .meta({ accepts: "`true` or `false` (also 1/0, yes/no)" });

export const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** An optional ceiling: unset (the default) means none. */
export const optionalInt = (min: number, max: number) =>
  z.preprocess(trimmedOrUnset, decimalInt(min, max).optional()).meta({ accepts: intRange(min, max) });

export const isoDate = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { message: "must be a date written YYYY-MM-DD" })
    .refine(isCalendarDate, { message: "is not a real calendar date" })
    .optional(),
);

/** An IP address, or a host name by RFC 1123 that is not a malformed dotted-decimal address such as 999.1.1.1. */
export function isListenHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length > 253 || /^[\d.]+$/.test(host)) return false;
  return host.split(".").every((label) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(label));
}

export type S3Location = { bucket: string; prefix: string };

export type StateLocation = { kind: "s3"; bucket: string; prefix: string } | { kind: "dir"; path: string };

export function parseS3Url(raw: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(raw);
  if (!m) return undefined;
  const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
  return { bucket: m[1]!, prefix };
}

export function parseStateUrl(raw: string | undefined, dataDir: string): StateLocation | string {
  if (raw === undefined) return { kind: "dir", path: `${dataDir.replace(/\/+$/, "")}/_state` };
  if (raw.startsWith("s3://")) {
    const s3 = parseS3Url(raw);
    return s3 ? { kind: "s3", ...s3 } : "STATE_URL must look like s3://bucket/prefix (a valid bucket name)";
  }
  if (raw.startsWith("file://")) {
    try {
      return { kind: "dir", path: decodeURIComponent(new URL(raw).pathname) };
    } catch {
      return "STATE_URL file:// URL is malformed; use file:///absolute/path or a plain directory";
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return "STATE_URL must be s3://bucket/prefix, file:///path or a plain directory path";
  }
  return { kind: "dir", path: raw };
}

/** A Wootric answer that retrying will not fix (4xx other than 401/429, or a body that is not what was documented). */
export class WootricApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly endpoint: string,
    readonly body?: string,
  ) {
    super(message);
    this.name = "WootricApiError";
  }
}

/** The token endpoint refused the client id / secret, or a fresh token was refused too. */
export class WootricAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WootricAuthError";
  }
}

/** Retries ran out (5xx, network errors, or a 429 storm longer than the client will wait). */
export class WootricUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WootricUnavailableError";
  }
}

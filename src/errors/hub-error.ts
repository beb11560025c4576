/**
 * What went wrong talking to the Hugging Face hub (or reading its cache offline), by kind, with the
 * HTTP status when there was one; the message names the repository, revision or file concerned.
 */
export type HubErrorKind =
  | 'unauthorized' // 401/403: a gated or private repository without an accepted token
  | 'repo-not-found'
  | 'revision-not-found'
  | 'file-not-found'
  | 'unreachable' // no connection (refused, DNS), or transient failures that outlived the retries
  | 'offline' // HF_HUB_OFFLINE is set and the cache lacks what was asked for
  | 'integrity' // a downloaded file's size or hash differs from what the hub announced
  | 'protocol'; // any other answer the client cannot use

export class HubError extends Error {
  readonly kind: HubErrorKind;
  /** The HTTP status of the answer that failed, when there was one. */
  readonly status: number | undefined;
  constructor(kind: HubErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'HubError';
    this.kind = kind;
    this.status = status;
  }
}

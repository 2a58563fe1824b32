import { t } from "../../i18n";
import { ApiError } from "../../lib/api";

/** What to tell the person when a request failed: the server's message (a 422 names the
 * field), else a generic one. */
export function failure(error: unknown): string {
  return error instanceof ApiError ? error.message : t("common.failed");
}

// QR codes for two-factor enrolment, drawn in the browser. The library is loaded only when
// a QR code is drawn (its own chunk), never with the app.

/** An SVG data URI of the QR code of `text` (an otpauth:// URI); `fallback` (the server's
 * drawing) when the library cannot be loaded, say offline with an older cache. */
export async function qrDataUri(text: string, fallback: string): Promise<string> {
  try {
    const { renderSVG } = await import("uqr");
    return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(text, { border: 2 }))}`;
  } catch {
    return fallback;
  }
}

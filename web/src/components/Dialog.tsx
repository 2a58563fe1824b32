import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { t } from "../i18n";

interface Props {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  class?: string;
}

/** A modal dialog (the platform's <dialog>): focus moves into it when it opens, Escape and
 * the close button close it, and focus returns to what opened it. */
export function Dialog({ title, onClose, children, class: className }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const dialog = ref.current;
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    dialog?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    return () => {
      // Closed first: while a modal dialog is open, everything outside it is inert and
      // cannot take focus back.
      if (dialog?.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog ref={ref} class={`dialog${className ? ` ${className}` : ""}`} aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}>
      <header class="dialog-head">
        <h2>{title}</h2>
        <button type="button" class="secondary" onClick={onClose} data-autofocus>{t("dialog.close")}</button>
      </header>
      {children}
    </dialog>
  );
}

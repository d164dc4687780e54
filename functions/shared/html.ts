/** HTML-escapes text for pages and e-mail bodies (the five characters that matter in text and attributes). */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

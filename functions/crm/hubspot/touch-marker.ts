/** The marker the outbound side writes into every task body, read back when the rep completes the task. */
export const TOUCH_MARKER = 'cultivate-touch:';
const TOUCH_ID = /cultivate-touch:\s*([\w.:\-/@]{1,128})/i;
export const touchIdIn = (body: string | null | undefined): string | undefined => (body ? TOUCH_ID.exec(body)?.[1] : undefined);

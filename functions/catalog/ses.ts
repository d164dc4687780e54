/**
 * SES event publishing, as SES puts it on the default EventBridge bus (the detail of "Email
 * Bounced", "Email Complaint Received", "Email Clicked", ...): the fields Cultivate reads.
 */
import { z } from 'zod';

export const SesEventDetail = z.object({
  eventType: z.string(),
  mail: z.object({
    messageId: z.string(),
    timestamp: z.string().optional(),
    tags: z.record(z.string(), z.array(z.string())).optional(),
  }),
  bounce: z.object({ bounceType: z.string(), timestamp: z.string().optional() }).optional(),
  complaint: z.object({ timestamp: z.string().optional(), complaintFeedbackType: z.string().optional() }).optional(),
  click: z.object({ timestamp: z.string().optional(), link: z.string(), userAgent: z.string().optional() }).optional(),
});
export type SesEventDetail = z.infer<typeof SesEventDetail>;

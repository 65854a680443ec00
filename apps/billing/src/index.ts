export * from './billing.manifest';
export * from './billing.module';
/** How a payment provider signs a webhook to billing: its public contract, also used by the platform's secret-rotation test. */
export { signWebhook } from './webhooks/webhook-signature';

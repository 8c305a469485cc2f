export { BullMqClient, type BullMqClientOptions, type BullMqJobPolicy, DEFAULT_JOB_POLICY } from './bullmq-client';
export { BULLMQ_TRANSPORT, BullMqContext, BullMqServer, type BullMqServerOptions } from './bullmq-server';
export { BullMqRoutingTransport } from './bullmq-routing-transport';
export { type BullMqMessagingOptions, BullMqPeers, bullMqProviders, connectBullMq, consumerDeadLetters } from './bullmq-messaging';
export { assertRedisReachable, producerConnection, redactRedisUrl, workerConnection } from './redis';

export { createRootLogger, registerSecretValue, unregisterSecretValue } from './logger';

// @platform/secrets: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { type SecretDefinition, minLength, pem } from './secret-definition';
export { SecretsModule } from './secrets.module';
export { type SecretDescription, type SecretChange, SecretsService } from './secrets.service';

import type { PlatformConfigValues } from './platform-config';

/**
 * Injection token and type of the validated configuration. Inject it as
 * `constructor(private readonly config: PlatformConfig)`.
 */
export abstract class PlatformConfig {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface PlatformConfig extends PlatformConfigValues {}

import type { PlatformConfigValues } from './platform-config';

/**
 * Injection token and type of the validated configuration. Inject it as
 * `constructor(private readonly config: PlatformConfig)`.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the class is the injection token, the merged interface gives it the values' type
export abstract class PlatformConfig {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type -- see the class above
export interface PlatformConfig extends PlatformConfigValues {}

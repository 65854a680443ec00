// @platform/feature-apps: what code outside this lib uses; everything else is internal (npm run lint:boundaries).
export { AppRegistry, AppRegistryModule, type FeatureApp, type FeatureAppManifest } from './feature-app';

export { AppRegistry, AppRegistryModule, type FeatureApp, type FeatureAppManifest } from './feature-app';

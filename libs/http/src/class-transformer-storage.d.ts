// class-transformer ships its metadata storage (where @Type is recorded) without a declaration
// beside the CommonJS file; its type lives under types/.
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}

import 'reflect-metadata';
import { Logger } from '@nestjs/common';

// Unit tests build services without an application: keep Nest's console logger quiet.
// (Each TestPlatform installs its own pino logger, which replaces this.)
Logger.overrideLogger(false);

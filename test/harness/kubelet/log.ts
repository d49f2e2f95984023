// The process kubelet's own log: one file per kubelet under its work dir, so test output stays
// readable and a failed run can be read afterwards.
import winston from 'winston';

export type Logger = winston.Logger;

export function createKubeletLogger(file: string, kubeletName: string): Logger {
  return winston.createLogger({
    level: 'debug',
    defaultMeta: { kubelet: kubeletName },
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.File({ filename: file })],
  });
}

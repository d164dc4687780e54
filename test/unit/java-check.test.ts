/** `npm start` says clearly when Java (for DynamoDB Local) is missing, instead of a stack trace. */
import { afterEach, describe, expect, it } from 'vitest';
import { checkJava, JavaMissingError } from '#local/dynamodb-local';

describe('checkJava', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('throws JavaMissingError with install instructions when java is not on the PATH', () => {
    process.env.PATH = '/nonexistent-cultivate-test-dir';
    expect(() => checkJava()).toThrow(JavaMissingError);
    try {
      checkJava();
    } catch (err) {
      expect((err as Error).message).toMatch(/Java 17 or newer is required/);
      expect((err as Error).message).toMatch(/openjdk-17-jre-headless/);
    }
  });

  it('passes where Java 17+ is installed (this machine and CI install it)', () => {
    expect(() => checkJava()).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { normalizeObjectPath, objectKey, validateBucketName, validateObjectPath } from '../../src/storage/paths.js';
import { InvalidPathError } from '../../src/storage/storage.js';

describe('normalizeObjectPath', () => {
  it.each([
    ['user-1/sdxl_abc_1700000000_0.png', 'user-1/sdxl_abc_1700000000_0.png'],
    ['image_fast/0b6f/video.mp4', 'image_fast/0b6f/video.mp4'],
    ['a.png', 'a.png'],
    ['user%201/a%20b.png', 'user 1/a b.png'],
    ['caf%C3%A9/%E2%9C%93.png', 'café/✓.png'],
    ['a%2Fb.png', 'a/b.png'], // an encoded slash is a plain separator after decoding
    ['a+b.png', 'a+b.png'], // "+" is not a space in paths
    ['...', '...'], // three dots is an ordinary name
    ['.hidden/x', '.hidden/x'],
    ['x/..y/y..', 'x/..y/y..'],
    // Decoded exactly once: a double-encoded dot-dot stays a literal, harmless name.
    ['%252e%252e/etc/passwd', '%2e%2e/etc/passwd'],
    ['a'.repeat(255), 'a'.repeat(255)],
  ])('accepts %j', (input, expected) => {
    expect(normalizeObjectPath(input)).toBe(expected);
  });

  it('accepts exactly 1024 bytes and refuses 1025', () => {
    const path1024 = Array.from({ length: 8 }, () => 'a'.repeat(127)).join('/'); // 8*127 + 7 = 1023
    expect(normalizeObjectPath(`${path1024}b`)).toHaveLength(1024);
    expect(() => normalizeObjectPath(`${path1024}bc`)).toThrow(/1025 bytes.*limit is 1024/);
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    const wide = Array.from({ length: 4 }, () => 'é'.repeat(127)).join('/'); // 4*254 + 3 = 1019 bytes
    expect(normalizeObjectPath(wide)).toBe(wide);
    expect(() => normalizeObjectPath(`${wide}/ééé`)).toThrow(InvalidPathError); // 1026 bytes, 515 chars
  });

  it.each([
    // traversal, plain and percent-encoded in every case
    ['..', /"\.\." segment/],
    ['../etc/passwd', /"\.\." segment/],
    ['a/../../etc/passwd', /"\.\." segment/],
    ['a/..', /"\.\." segment/],
    ['%2e%2e/etc/passwd', /"\.\." segment/],
    ['%2E%2E/etc/passwd', /"\.\." segment/],
    ['%2e./x', /"\.\." segment/],
    ['.%2E/x', /"\.\." segment/],
    ['a/%2e%2e%2f%2e%2e%2fetc', /"\.\." segment/],
    ['..%2F..%2Fetc%2Fpasswd', /"\.\." segment/],
    ['.', /"\." segment/],
    ['./a.png', /"\." segment/],
    ['a/./b', /"\." segment/],
    ['a/%2e/b', /"\." segment/],
    // absolute
    ['/etc/passwd', /starts with "\/"/],
    ['%2Fetc%2Fpasswd', /starts with "\/"/],
    ['/', /starts with "\/"/],
    // backslashes
    ['..\\..\\windows', /backslash/],
    ['a\\b.png', /backslash/],
    ['a%5Cb.png', /backslash/],
    ['%5C%5Cserver%5Cshare', /backslash/],
    // control characters
    ['a\u0000.png', /control character/],
    ['a%00.png', /control character/],
    ['a%00/../b', /control character/],
    ['a%0Ab.png', /control character/],
    ['a\r\nb', /control character/],
    ['a%7F', /control character/],
    ['a%C2%85', /control character/], // U+0085, a C1 control
    // empty, empty segments
    ['', /empty/],
    ['a//b.png', /empty segment/],
    ['a/', /empty segment/],
    ['a%2F%2Fb', /empty segment/],
    // malformed percent-encoding
    ['%', /malformed percent-encoding/],
    ['a%zz.png', /malformed percent-encoding/],
    ['a%2.png', /malformed percent-encoding/],
    ['%C3%28.png', /malformed percent-encoding/], // invalid UTF-8
    ['%E2%9C', /malformed percent-encoding/], // truncated UTF-8
    // too long
    ['a'.repeat(1025), /limit is 1024 bytes/],
    ['%61'.repeat(1025), /limit is 1024 bytes/],
    ['a'.repeat(256), /segment .* longer than 255 bytes/],
  ])('refuses %j', (input, message) => {
    let caught: unknown;
    try {
      normalizeObjectPath(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidPathError);
    expect((caught as Error).name).toBe('InvalidPathError');
    expect((caught as Error).message).toMatch(message);
  });

  it('keeps error messages printable when the input is hostile', () => {
    expect(() => normalizeObjectPath('a\u0000\nb')).toThrow(/a\\u0000\\nb/);
  });
});

describe('validateObjectPath', () => {
  it('does not decode, so validating a normalised path twice is stable', () => {
    const once = normalizeObjectPath('%252e%252e/x%2541');
    expect(once).toBe('%2e%2e/x%41');
    expect(validateObjectPath(once)).toBe(once);
  });

  it('refuses the same shapes as normalizeObjectPath', () => {
    for (const bad of ['', '/a', 'a//b', '../a', 'a/.', 'a\\b', 'a\u0000b']) {
      expect(() => validateObjectPath(bad), bad).toThrow(InvalidPathError);
    }
  });
});

describe('validateBucketName', () => {
  it.each(['sdxl_image_fast', 'video7b_fast_enhanced', 'image-high', 'a', 'v1.2'])('accepts %j', (name) => {
    expect(validateBucketName(name)).toBe(name);
  });

  it.each(['', '.', '..', '.meta', '.tmp', 'a/b', 'a\\b', '-a', 'a b', 'a\u0000', 'x'.repeat(64)])('refuses %j', (name) => {
    expect(() => validateBucketName(name)).toThrow(InvalidPathError);
  });
});

describe('objectKey', () => {
  it('joins bucket and path with one slash', () => {
    expect(objectKey('sdxl_image_fast', 'u1/a.png')).toBe('sdxl_image_fast/u1/a.png');
  });
});

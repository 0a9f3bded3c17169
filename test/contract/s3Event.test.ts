/** parseS3Event / buildS3Event: the S3 notification JSON every queue consumer reads. */
import fc from 'fast-check';
import { MalformedEventError, buildS3Event, buildS3TestEvent, decodeEventKey, encodeEventKey, parseS3Event } from '../../shared/storage';

describe('Function: parseS3Event', () => {
  it('recognises s3:TestEvent', () => {
    expect(parseS3Event(buildS3TestEvent('b'))).toBe('test-event');
    expect(parseS3Event('{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2025-01-01T00:00:00.000Z","Bucket":"b","RequestId":"x","HostId":"y"}')).toBe('test-event');
  });

  it('decodes keys as S3 and moto encode them (+ is a space, %2F a slash)', () => {
    // Prepare: a record as moto sends it (quote_plus, no versionId/sequencer)
    const body = JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'eu-west-1',
          eventTime: '2025-01-01T00:00:00.000Z',
          eventName: 'ObjectCreated:Put',
          s3: { s3SchemaVersion: '1.0', configurationId: 'c', bucket: { name: 'src', arn: 'arn:aws:s3:::src' }, object: { key: 'in%2Fa+b%2Bc%25.txt', size: 5, eTag: '"abc"' } },
        },
      ],
    });
    // Act
    const [r] = parseS3Event(body) as Exclude<ReturnType<typeof parseS3Event>, 'test-event'>;
    // Assess
    expect(r).toMatchObject({ key: 'in/a b+c%.txt', bucket: 'src', size: 5, etag: 'abc', eventName: 'ObjectCreated:Put', awsRegion: 'eu-west-1' });
    expect(r.versionId).toBeUndefined();
  });

  it.each([
    ['not JSON', 'hello'],
    ['an array', '[1,2]'],
    ['no Records', '{"foo":1}'],
    ['a record without s3', '{"Records":[{"eventName":"x"}]}'],
    ['a bad percent escape', JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: '%E0%A4%A' } } }] })],
    ['a string size', JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'k', size: '5' } } }] })],
  ])('throws MalformedEventError for %s', (_what, body) => {
    expect(() => parseS3Event(body)).toThrow(MalformedEventError);
  });

  it('round-trips any key through buildS3Event', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), (key) => {
        const body = buildS3Event([{ eventName: 'ObjectCreated:Put', awsRegion: 'r', bucket: 'b', key, size: 1, etag: 'e', versionId: 'v', sequencer: '01' }]);
        const [r] = parseS3Event(body) as Exclude<ReturnType<typeof parseS3Event>, 'test-event'>;
        expect(r.key).toBe(key);
        expect(decodeEventKey(encodeEventKey(key))).toBe(key);
      }),
    );
  });

  it('encodes like S3: spaces as +, reserved characters percent-encoded, / kept', () => {
    expect(encodeEventKey("in/a b+c%d(1)'*.txt")).toBe('in/a+b%2Bc%25d%281%29%27%2A.txt');
  });
});

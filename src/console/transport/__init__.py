"""The only package that speaks SSH (asyncssh): connections, host keys, exec and SFTP."""

// SQLite as a real workload: an in-memory database, bulk inserts in a
// transaction, an index, joins and aggregates. Built from the amalgamation
// that the npm package better-sqlite3 ships (fetched by bench/run.sh).
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "sqlite3.h"

static void exec(sqlite3* db, const char* sql) {
  char* error = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s: %s\n", sql, error);
    exit(1);
  }
}

int main(int argc, char** argv) {
  BENCH_BEGIN();
  int rows = argc > 1 ? atoi(argv[1]) : 200000;
  sqlite3* db = NULL;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    fprintf(stderr, "sqlite: cannot open\n");
    return 1;
  }
  exec(db, "CREATE TABLE item(id INTEGER PRIMARY KEY, category INTEGER, name TEXT, price REAL)");
  exec(db, "CREATE TABLE category(id INTEGER PRIMARY KEY, label TEXT)");
  exec(db, "BEGIN");
  sqlite3_stmt* insert = NULL;
  sqlite3_prepare_v2(db, "INSERT INTO item(category, name, price) VALUES(?, ?, ?)", -1, &insert, NULL);
  char name[32];
  uint32_t x = 12345;
  for (int i = 0; i < rows; i++) {
    x = x * 1103515245u + 12345u;
    snprintf(name, sizeof name, "item-%u", x % 100000u);
    sqlite3_bind_int(insert, 1, (int)(x % 97));
    sqlite3_bind_text(insert, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(insert, 3, (x % 10000) / 100.0);
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  for (int c = 0; c < 97; c++) {
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO category VALUES(%d, 'category-%d')", c, c);
    exec(db, sql);
  }
  exec(db, "COMMIT");
  exec(db, "CREATE INDEX item_name ON item(name)");
  uint64_t checksum = 0;
  const char* queries[] = {
      "SELECT count(*), sum(price) FROM item WHERE price > 50",
      "SELECT c.label, count(*), avg(i.price) FROM item i JOIN category c ON c.id = i.category "
      "GROUP BY c.label ORDER BY 3 DESC LIMIT 5",
      "SELECT count(DISTINCT name) FROM item",
      "SELECT name, count(*) FROM item GROUP BY name ORDER BY 2 DESC, 1 LIMIT 10",
  };
  for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
    sqlite3_stmt* stmt = NULL;
    sqlite3_prepare_v2(db, queries[q], -1, &stmt, NULL);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int col = 0; col < sqlite3_column_count(stmt); col++) {
        const unsigned char* text = sqlite3_column_text(stmt, col);
        for (; text && *text; text++) checksum = checksum * 131 + *text;
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  BENCH_END(checksum);
  return 0;
}

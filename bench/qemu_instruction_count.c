/* A QEMU TCG plugin that counts the guest instructions a program executes and prints the total at
 * exit ("instructions N" on QEMU's log, shown with -d plugin). Debian's qemu-user runs plugins but
 * ships none, so scripts/count-arm-instructions.sh builds this one with the host's compiler.
 *
 * The few declarations below are QEMU's public plugin API (include/qemu/qemu-plugin.h in the QEMU
 * sources, API version 1 as in QEMU 7.2): a translation callback per translated block, in which
 * an inline add of the block's instruction count is attached to every execution of the block.
 * The count is a plain add, not atomic: count single-threaded programs. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;
enum { kInlineAddU64 = 0 }; /* QEMU_PLUGIN_INLINE_ADD_U64 */

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb*));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb* tb, int op, void* ptr,
                                              uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void*),
                                    void* userdata);
void qemu_plugin_outs(const char* string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t instructions;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, kInlineAddU64, &instructions,
                                           qemu_plugin_tb_n_insns(tb));
}

static void on_program_exit(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  char line[64];
  snprintf(line, sizeof line, "instructions %llu\n", (unsigned long long)instructions);
  qemu_plugin_outs(line);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const struct qemu_info_t* info,
                                                               int argc, char** argv) {
  (void)info;
  (void)argc;
  (void)argv;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_program_exit, NULL);
  return 0;
}
